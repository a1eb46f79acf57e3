# The sign-in tests' provider and settings (tests/c2c_ops/sso_flow.py).
from .sso_flow import provider, sso  # noqa: F401
