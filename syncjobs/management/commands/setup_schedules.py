"""``manage.py setup_schedules``: store every beat schedule in the database."""

from django.core.management.base import BaseCommand

from syncjobs.schedules import SCHEDULES, schedules_apply


class Command(BaseCommand):
    help = (
        "Create or update the periodic tasks beat runs (syncjobs/schedules.py). "
        "Safe to run on every deploy: rows already as wanted are not touched, "
        "and a schedule switched off in the admin stays off."
    )

    def handle(self, *args, **options):
        outcomes = schedules_apply()
        for schedule in SCHEDULES:
            self.stdout.write(
                f"{outcomes[schedule.name]:<9} {schedule.name} "
                f"[{schedule.cron} UTC] {schedule.task}"
            )
        changed = sum(outcome != "unchanged" for outcome in outcomes.values())
        self.stdout.write(
            self.style.SUCCESS(f"{len(outcomes)} schedules, {changed} changed")
        )
