from django import forms

from grading.models import Label, Reason, Skip


class GradeForm(forms.Form):
    label = forms.ChoiceField(choices=Label.choices)
    reasons = forms.MultipleChoiceField(
        choices=Reason.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    seconds = forms.FloatField(required=False, min_value=0, widget=forms.HiddenInput)


class SkipForm(forms.Form):
    reason = forms.ChoiceField(choices=Skip.Reason.choices, initial=Skip.Reason.UNSURE)
    note = forms.CharField(required=False, max_length=2000)


class AdjudicationForm(forms.Form):
    label = forms.ChoiceField(choices=Label.choices)
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
