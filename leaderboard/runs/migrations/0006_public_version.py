from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('runs', '0005_derived_runs'),
    ]

    operations = [
        migrations.CreateModel(
            name='PublicVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token', models.CharField(max_length=32)),
                ('changed_at', models.FloatField(help_text='When, in seconds since the epoch')),
            ],
        ),
    ]
