from django.conf import settings
from django.db import models

PAGES = ("/", "/transactions/", "/flows/")


class SavedView(models.Model):
    """A page with its filters, saved under a name by one user to come back to."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=80)
    path = models.CharField(max_length=200)
    query = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_view_name_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user_id})"

    @property
    def url(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path
