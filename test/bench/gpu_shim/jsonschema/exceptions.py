"""The stand-in's half of jsonschema.exceptions (see __init__.py): never called, as no error is raised."""


def best_match(errors, *args, **kwargs):
    return next(iter(errors), None)
