"""The upload form of the imports page."""

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sonda.accounts.access import Scope
from sonda.imports.models import ImportKind
from sonda.surveys.models import Survey

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_MAPPING_BYTES = 100 * 1024


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportKind.choices)
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8 text with a header row, comma-separated, at most 20 MB."),
    )
    region = forms.CharField(
        label=_("Country of national phone numbers"),
        required=False,
        max_length=2,
        help_text=_(
            "Customers only: numbers written without a +country code are read as this "
            "country's (a code such as RO or PL; RO when left empty)."
        ),
    )

    survey = forms.TypedChoiceField(
        label=_("Survey"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("Survey responses only: the survey the file's responses answer."),
    )
    mapping_file = forms.FileField(
        label=_("Mapping file"),
        required=False,
        help_text=_("Survey responses only: the JSON mapping of the file's columns."),
    )
    mapping = forms.CharField(
        label=_("Or paste the mapping"),
        required=False,
        max_length=MAX_MAPPING_BYTES,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
    )
    skip_invalid = forms.BooleanField(
        label=_("Import the valid rows and report the others"),
        required=False,
        help_text=_(
            "Survey responses only. Without it, nothing is imported while any row is invalid."
        ),
    )

    file_name = ""

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        surveys = Survey.objects.filter(organisation=scope.organisation, is_archived=False)
        survey_field = self.fields["survey"]
        assert isinstance(survey_field, forms.ChoiceField)
        survey_field.choices = [("", "—"), *((s.pk, s.name) for s in surveys.order_by("name"))]

    def clean_mapping_file(self) -> str:
        upload: Any = self.cleaned_data.get("mapping_file")
        if not upload:
            return ""
        if upload.size > MAX_MAPPING_BYTES:
            raise forms.ValidationError(_("The mapping is larger than 100 KB."))
        try:
            text: str = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(_("The mapping is not UTF-8 text.")) from exc
        return text

    def clean(self) -> dict[str, Any]:
        """For responses: the survey, and the mapping read as JSON (from the file or the box)."""
        cleaned = super().clean() or {}
        if cleaned.get("kind") != ImportKind.RESPONSES:
            cleaned["mapping_json"] = None
            return cleaned
        if cleaned.get("survey") is None and "survey" not in self.errors:
            self.add_error("survey", _("Choose the survey the responses answer."))
        text = cleaned.get("mapping_file") or cleaned.get("mapping") or ""
        where = "mapping_file" if cleaned.get("mapping_file") else "mapping"
        if not text.strip():
            if where not in self.errors:
                self.add_error("mapping", _("Upload or paste the mapping of the file's columns."))
            return cleaned
        try:
            cleaned["mapping_json"] = json.loads(text)
        except json.JSONDecodeError as exc:
            self.add_error(
                where,
                _("The mapping is not valid JSON (line %(line)s, column %(column)s: %(problem)s).")
                % {"line": exc.lineno, "column": exc.colno, "problem": exc.msg},
            )
        return cleaned

    def clean_file(self) -> str:
        """The file's text; spreadsheets' byte-order mark is dropped."""
        upload: Any = self.cleaned_data["file"]
        self.file_name = str(upload.name or "")
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        try:
            text: str = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(
                _("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.")
            ) from exc
        return text
