from tests.engines.conftest import compose_config

__all__ = ["compose_config"]
