// Building the DOM safely: every piece of data goes in through textContent (or a
// whitelisted attribute), never through innerHTML, so a unit name such as
// `<img src=x onerror=alert(1)>` from the registry is shown as text.

const ATTRS = new Set(["id", "href", "title", "role", "colspan", "lang", "hidden", "aria-live",
  "aria-label", "aria-current", "scope"]);

/** h("td", {class: "num", text: "4.700", data: {unit: "x"}}, child, ...) */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "data") for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    else if (key === "onclick") el.addEventListener("click", value);
    else if (key === "href") el.setAttribute("href", safeHref(value));
    else if (ATTRS.has(key)) el.setAttribute(key, value === true ? "" : String(value));
    else throw new Error(`h(): attribute ${key} is not allowed`);
  }
  append(el, children);
  return el;
}

/** Append children: nodes as they are, strings and numbers as text nodes. */
export function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace every child of el. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Only same-origin paths: a link never leaves the wall nor runs script. */
function safeHref(value) {
  const text = String(value);
  return text.startsWith("/") && !text.startsWith("//") ? text : "#";
}
