from django import forms
from django.conf import settings

from leaderboard.runs.models import Benchmark


class ImportSamplesForm(forms.Form):
    file = forms.FileField(
        help_text="JSONL (or .jsonl.gz): {task_id, completion} rows, or {task_id|prompt, samples: [...]}"
    )
    model_name = forms.CharField(max_length=200, label="Model name")
    family = forms.CharField(max_length=100, required=False)
    parameters = forms.IntegerField(  # at most 100T, as the submission form: the database column holds it
        min_value=1, max_value=10**14, required=False, help_text="Number of parameters"
    )
    benchmark = forms.ModelChoiceField(queryset=Benchmark.objects.all())
    temperature = forms.FloatField(min_value=0, max_value=2, required=False)
    top_p = forms.FloatField(min_value=0, max_value=1, required=False)
    truncate = forms.BooleanField(required=False, label="Cut at the Codex stop sequences")
    allow_missing = forms.BooleanField(required=False, label="Accept a file without some problems")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {settings.IMPORT_MAX_BYTES // 2**20} MB.")
        return upload
