from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"

    def ready(self) -> None:
        from django.conf import settings

        if settings.SILK_ENABLED:
            from crm.profiling import silk_skip_explain

            silk_skip_explain()
