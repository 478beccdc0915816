from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Admin console"

    def ready(self) -> None:
        from console import checks, demo_actions  # noqa: F401  (register checks, actions)
