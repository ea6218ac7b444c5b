from django.apps import AppConfig


class LinkedinConfig(AppConfig):
    name = "linkedin"
