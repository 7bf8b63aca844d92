"""The ``ioc`` command line: one table of sub-commands and shared argument helpers."""
