from django.contrib import admin

from grading import services
from grading.models import Adjudication, BackTranslation, Claim, Grade, Item, Skip


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "problem",
        "run",
        "index",
        "source",
        "is_gold",
        "target",
        "grade_count",
        "label",
        "label_status",
    )
    list_filter = ("source", "is_gold", "label_status", "target")
    search_fields = ("problem__task_id", "docstring")
    raw_id_fields = ("problem", "run", "sample")
    readonly_fields = ("grade_count", "label", "label_status")

    def save_model(self, request, obj, form, change):
        """A changed target settles the item again (through the service), so its label follows."""
        if change and "target" in form.changed_data:
            target = obj.target
            super().save_model(request, obj, form, change)
            services.set_item_target(obj, target)
        else:
            super().save_model(request, obj, form, change)


@admin.register(Grade)
class GradeAdmin(admin.ModelAdmin):
    list_display = ("id", "item", "annotator", "label", "time_spent", "revisions", "created_at")
    list_filter = ("label",)
    raw_id_fields = ("item", "annotator")


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    list_display = ("item", "annotator", "claimed_at", "expires_at")
    raw_id_fields = ("item", "annotator")


@admin.register(Skip)
class SkipAdmin(admin.ModelAdmin):
    list_display = ("item", "annotator", "reason", "created_at")
    raw_id_fields = ("item", "annotator")


@admin.register(Adjudication)
class AdjudicationAdmin(admin.ModelAdmin):
    list_display = ("item", "reviewer", "label", "updated_at")
    raw_id_fields = ("item", "reviewer")


@admin.register(BackTranslation)
class BackTranslationAdmin(admin.ModelAdmin):
    list_display = ("item", "backend", "passed", "status", "created_at")
    list_filter = ("passed", "backend")
    raw_id_fields = ("item",)
