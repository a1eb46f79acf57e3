from django.db import migrations

NAME = "New exception: tell the owning team"


def seed(apps, schema_editor):
    AlertRule = apps.get_model("c2c_exceptions", "AlertRule")
    AlertRule.objects.get_or_create(name=NAME, defaults={"kind": "new_exception", "enabled": True})


def unseed(apps, schema_editor):
    apps.get_model("c2c_exceptions", "AlertRule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("c2c_exceptions", "0004_alerts")]
    operations = [migrations.RunPython(seed, unseed)]
