from django.apps import AppConfig


class MoralgraphConfig(AppConfig):
    name = "moralgraph"
    verbose_name = "Moral graph"
