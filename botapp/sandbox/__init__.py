"""The offline sandbox: a Telegram Bot API double with a web chat page (and fake sites).

``from botapp.sandbox.telegram_api import TelegramApiDouble`` is the entry point for
Telegram; see that module's docstring for what it enforces.
"""
