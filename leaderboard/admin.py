from django.contrib import admin, messages

from leaderboard import services
from leaderboard.models import Submission


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "display_name",
        "hub_id",
        "local_path",
        "revision",
        "author",
        "status",
        "created_at",
    )
    list_filter = ("status", "precision")
    search_fields = ("display_name", "hub_id", "local_path", "author__username")
    readonly_fields = ("fingerprint", "model", "runs", "decided_by", "decided_at", "created_at")
    actions = ["approve", "reject"]

    @admin.action(description="Approve: create the runs and queue their generation")
    def approve(self, request, queryset):
        for submission in queryset:
            try:
                services.approve_submission(submission, request.user)
            except services.SubmissionError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(request, f"Submission #{submission.id} approved.", messages.SUCCESS)

    @admin.action(description="Reject")
    def reject(self, request, queryset):
        for submission in queryset:
            try:
                services.reject_submission(submission, request.user, "Rejected by staff.")
            except services.SubmissionError as error:
                self.message_user(request, str(error), messages.ERROR)
