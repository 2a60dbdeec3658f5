"""The web layer: the app, routes, middleware, auth, admission and the error handlers."""
