"""Upload portal for member-state data offices (``hemistat serve``): accounts, uploads with an immediate
verdict, review and publication approval, audit log. See docs/PORTAL.md."""


def create_app(settings, config=None):
    from pipelines.service.app import create_app as _create

    return _create(settings, config)


__all__ = ["create_app"]
