from django.apps import AppConfig


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    label = "c2c_exceptions"
    verbose_name = "Exceptions"
