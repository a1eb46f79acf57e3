from django.db import migrations

from exceptions.seeds import DEFAULT_RULE, seed_alert_rules


def seed(apps, schema_editor):
    seed_alert_rules(apps.get_model("c2c_exceptions", "AlertRule"))


def unseed(apps, schema_editor):
    apps.get_model("c2c_exceptions", "AlertRule").objects.filter(name=DEFAULT_RULE).delete()


class Migration(migrations.Migration):
    dependencies = [("c2c_exceptions", "0004_alerts")]
    operations = [migrations.RunPython(seed, unseed)]
