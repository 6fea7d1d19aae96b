from django.apps import AppConfig


class BotappConfig(AppConfig):
    name = "botapp"
    verbose_name = "Bot"

    def ready(self) -> None:
        # Imported once the models are loaded (Django's rule for ready()), not to dodge
        # a cycle: hands the bot factory and the delivery policies to ``downloads`` in
        # every process, the bot's and each rq worker's.
        from botapp.application import wire

        wire()
