"""A tiny path router: no framework, only the standard library."""
import re

ROUTES = []


def route(method, pattern):
    regex = re.compile("^" + re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", pattern) + "$")

    def register(fn):
        ROUTES.append((method, regex, fn))
        return fn

    return register


def match(method, path):
    allowed = []
    for route_method, regex, fn in ROUTES:
        found = regex.match(path)
        if found:
            if route_method == method:
                return fn, found.groupdict(), allowed
            allowed.append(route_method)
    return None, {}, allowed
