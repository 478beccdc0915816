from django.apps import AppConfig


class DecisionsConfig(AppConfig):
    name = "orchestration.decisions"
    label = "decisions"
    verbose_name = "AI decisions"
