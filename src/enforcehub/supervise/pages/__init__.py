"""The dashboard's pages: one module per page (or family), each registering builders with `view.page`."""
