"""Forms: the board's filters, the comparison, the submission form and staff decisions."""

from __future__ import annotations

import re
import time
from dataclasses import fields

from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm
from django.core.cache import cache

from evaluation.benchmarks import registry
from leaderboard import hub, selectors, services
from leaderboard.models import Submission

SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmbt]?)\s*$", re.IGNORECASE)
SIZE_UNITS = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}
MAX_TEMPERATURE = 2.0
MAX_TEMPERATURES = 6
MAX_SAMPLES = 1000
KS = (1, 10, 100)
MAX_PARAMETERS = 10**14  # 100T: any count above is a typing error
DEFAULT_TEMPLATE = ("", "Each benchmark's default (HumanEval: its own prompt, as in the paper)")


class BoardFilterForm(forms.Form):
    """The board's query string; a field that does not validate is reported and ignored."""

    q = forms.CharField(required=False, max_length=100, label="Search")
    family = forms.ChoiceField(required=False)
    benchmark = forms.ChoiceField(required=False)
    min_size = forms.FloatField(
        required=False, min_value=0, max_value=MAX_PARAMETERS / 10**9, label="Size from (B)"
    )
    max_size = forms.FloatField(required=False, min_value=0, max_value=MAX_PARAMETERS / 10**9, label="to (B)")

    def __init__(self, data, *, families: list[str], benchmarks: list[str]):
        super().__init__(data)
        self.fields["family"].choices = [("", "All families")] + [(f, f) for f in families]
        self.fields["benchmark"].choices = [("", "All benchmarks")] + [(b, b) for b in benchmarks]

    def clean(self):
        data = super().clean()
        low, high = data.get("min_size"), data.get("max_size")
        if low is not None and high is not None and low > high:
            self.add_error("max_size", "The upper size is below the lower one.")
        return data

    def filters(self) -> selectors.BoardFilters:
        self.is_valid()
        data = self.cleaned_data

        def billions(name: str) -> int | None:
            value = data.get(name) if name not in self.errors else None
            return None if value is None else round(value * 10**9)

        return selectors.BoardFilters(
            q=data.get("q", "").strip(),
            family=data.get("family", ""),
            min_parameters=billions("min_size"),
            max_parameters=billions("max_size"),
            benchmark=data.get("benchmark", ""),
        )


class CompareForm(forms.Form):
    a = forms.TypedChoiceField(coerce=int, label="Model A")
    b = forms.TypedChoiceField(coerce=int, label="Model B")
    benchmark = forms.ChoiceField()

    def __init__(self, data, *, models: list[tuple[int, str]], benchmarks: list[str], initial=None):
        super().__init__(data, initial=initial)
        self.fields["a"].choices = self.fields["b"].choices = [("", "—")] + models
        self.fields["benchmark"].choices = [(b, b) for b in benchmarks]


class SignupForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username",)


def parse_size(value: str) -> int:
    """A parameter count as typed: 6700000000, 6.7B, 350M, 1.5k."""
    match = SIZE.match(value)
    if not match:
        raise forms.ValidationError(f"“{value}” is not a parameter count: write 6700000000, 6.7B or 350M.")
    count = round(float(match[1]) * SIZE_UNITS[match[2].lower()])
    if not 1 <= count <= MAX_PARAMETERS:
        raise forms.ValidationError("A parameter count must lie between 1 and 100T.")
    return count


def parse_temperatures(value: str) -> list[float]:
    parts = [part for part in re.split(r"[\s,;]+", value.strip()) if part]
    if not parts:
        raise forms.ValidationError("Give at least one temperature.")
    temperatures = set()
    for part in parts:
        try:
            temperature = float(part)
        except ValueError:
            raise forms.ValidationError(f"“{part}” is not a number.") from None
        if not 0 <= temperature <= MAX_TEMPERATURE:
            raise forms.ValidationError(
                f"Temperature {part} is out of range: use 0 (greedy) up to {MAX_TEMPERATURE:g}."
            )
        temperatures.add(round(temperature, 3))
    if len(temperatures) > MAX_TEMPERATURES:
        raise forms.ValidationError(f"At most {MAX_TEMPERATURES} temperatures per submission.")
    return sorted(temperatures)


class SubmissionForm(forms.Form):
    display_name = forms.CharField(max_length=200, help_text="How the model appears on the board.")
    family = forms.CharField(max_length=100, required=False, help_text="Optional, e.g. CodeGen.")
    location = forms.CharField(
        max_length=500,
        label="Hub id or local path",
        help_text="A hub id such as bigcode/santacoder, or an absolute folder the workers share.",
    )
    revision = forms.CharField(max_length=100, initial="main", help_text="Branch, tag or commit hash.")
    precision = forms.ChoiceField(choices=Submission.Precision.choices, initial=Submission.Precision.BFLOAT16)
    parameters = forms.CharField(
        max_length=30,
        required=False,
        label="Parameter count",
        help_text="Leave empty to read it from the model's files (6.7B and 350M are understood).",
    )
    benchmarks = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)
    temperatures = forms.CharField(
        max_length=100,
        initial="0.2, 0.8",
        help_text="Comma-separated, 0 to 2; one run per benchmark and temperature; 0 is greedy (one sample).",
    )
    ks = forms.TypedMultipleChoiceField(
        choices=[(k, f"pass@{k}") for k in KS],
        coerce=int,
        initial=[1, 10],
        widget=forms.CheckboxSelectMultiple,
        label="Report",
    )
    n = forms.IntegerField(
        min_value=1, max_value=MAX_SAMPLES, initial=20, label="n", help_text="Samples per problem."
    )
    max_new_tokens = forms.IntegerField(min_value=16, max_value=4096, initial=300, label="Max new tokens")
    prompt_template = forms.ChoiceField(
        required=False, help_text="Applies to the benchmarks that have templates."
    )

    def __init__(self, *args, benchmarks: list[str], user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        runnable = [name for name in registry.names() if name in benchmarks]
        self.fields["benchmarks"].choices = [(name, name) for name in runnable]
        self.templates = {name: services.prompt_templates(name) for name in runnable}
        self.fields["prompt_template"].choices = [DEFAULT_TEMPLATE] + [
            (template, f"{name}: {template}")
            for name, templates in self.templates.items()
            for template in templates
        ]
        self.parameters_source = ""

    def request(self) -> services.Request:
        """The cleaned form as the submission's settings."""
        data = self.cleaned_data
        return services.Request(**{f.name: data[f.name] for f in fields(services.Request)})

    def clean_display_name(self) -> str:
        name = " ".join(self.cleaned_data["display_name"].split())
        if not name:
            raise forms.ValidationError("Give the model a name.")
        return name

    def clean_revision(self) -> str:
        try:
            return hub.check_revision(self.cleaned_data["revision"].strip())
        except hub.ModelInfoError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_parameters(self) -> int | None:
        value = self.cleaned_data["parameters"].strip().replace(",", "").replace("_", "")
        return parse_size(value) if value else None

    def clean_temperatures(self) -> list[float]:
        return parse_temperatures(self.cleaned_data["temperatures"])

    def clean(self):
        data = super().clean()
        location = data.get("location", "").strip()
        data["hub_id"] = data["local_path"] = ""
        folder = None
        try:
            if location.startswith("/"):
                folder = hub.check_local_path(location, settings.SUBMISSION_MODEL_ROOTS)
                data["local_path"] = str(folder)
            elif location:
                # The hub finds a repository whatever the case of its id: one spelling, so that
                # BOB/Model-B and bob/model-b are the same submission.
                data["hub_id"] = hub.check_hub_id(location).lower()
        except hub.ModelInfoError as error:
            self.add_error("location", str(error))
        template, chosen = data.get("prompt_template"), data.get("benchmarks") or []
        if template and not any(template in self.templates.get(name, ()) for name in chosen):
            self.add_error(
                "prompt_template", f"The template {template} belongs to none of the chosen benchmarks."
            )
        ks, n = data.get("ks"), data.get("n")
        if ks and n is not None and n < max(ks):
            self.add_error(
                "n",
                f"n = {n} samples cannot estimate pass@{max(ks)}: "
                f"n must be at least the largest k ({max(ks)}).",
            )
        # The model's files are read only for a form that is otherwise valid: a look-up costs the hub.
        if data.get("parameters") is None and not self.errors:
            self.read_parameters(data, folder)
        return data

    def hub_lookup_allowed(self) -> bool:
        """Count one hub look-up for this form's user; False past HUB_LOOKUPS_PER_HOUR this hour."""
        key = f"hub-lookups:{self.user.pk if self.user else 'anonymous'}:{int(time.time() // 3600)}"
        cache.add(key, 0, timeout=3600)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.set(key, count := 1, timeout=3600)
        return count <= settings.HUB_LOOKUPS_PER_HOUR

    def read_parameters(self, data: dict, folder) -> None:
        """Fill in the parameter count from the model's files; say plainly when that is impossible."""
        try:
            if folder is not None:
                count, source = hub.local_parameters(folder)
            elif data["hub_id"]:
                if not self.hub_lookup_allowed():
                    self.add_error(
                        "parameters",
                        f"The hub was asked the size of {settings.HUB_LOOKUPS_PER_HOUR} models in the last "
                        "hour, the most allowed: enter the parameter count by hand, or try again later.",
                    )
                    return
                count, source = hub.hub_parameters(
                    data["hub_id"], data["revision"], settings.HUB_URL, settings.HUB_TIMEOUT
                )
            else:
                return
        except hub.ModelInfoError as error:
            self.add_error("parameters", f"{error} Enter the parameter count by hand.")
            return
        if not count:
            self.add_error("parameters", "The model's files do not say its size: enter the parameter count.")
            return
        data["parameters"] = count
        self.parameters_source = source


class StopRunForm(forms.Form):
    """Staff stop a run: cancelled (withdrawn) or failed (it cannot succeed), with a public reason."""

    action = forms.ChoiceField(choices=[("cancelled", "Cancel"), ("failed", "Fail")])
    reason = forms.CharField(max_length=500, label="Reason (shown on its pages)")


class RankRunForm(forms.Form):
    """The docstring model that ranks a run's samples by back-translation (Figure 7)."""

    model = forms.CharField(max_length=500, label="Docstring model (hub id or folder)")


class RejectForm(forms.Form):
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))
