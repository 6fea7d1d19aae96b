"""Experiments, their variants, who is in which, QA overrides and exposures.

PostgreSQL is the truth: an assignment row is a user's first (sticky) variant in a
phase; an exposure row is the first time the variant changed what the user saw, which
is what the results count. Redis and an in-process cache only copy them for speed
(``abtests/selectors.py``).
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

# The one reference to the users model.
USER_MODEL = "users.BotUser"


class ExperimentKind(models.TextChoices):
    AD_TEXT = "ad_text", "ad text (a campaign's creative)"
    FREE_LIMIT = "free_limit", "free downloads (the quota's base)"
    UI = "ui", "UI (welcome text, quality buttons)"


class ABTest(models.Model):
    name = models.SlugField(max_length=64, unique=True, help_text="Also the default hash seed")
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=ExperimentKind.choices)
    is_active = models.BooleanField(
        default=False, help_text="Running; start and stop with the admin actions"
    )
    start_date = models.DateTimeField(null=True, blank=True)
    end_date = models.DateTimeField(
        null=True, blank=True, help_text="Stops by itself then; empty: runs until stopped"
    )
    hash_seed = models.CharField(
        max_length=64, blank=True, help_text="Bucketing seed; empty: the name"
    )
    phase = models.PositiveIntegerField(
        default=1, help_text="A new phase re-randomises everyone (assignments are per phase)"
    )
    coverage = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of eligible users in the experiment (0 to 1)",
    )
    namespace = models.CharField(
        max_length=64,
        blank=True,
        help_text="Experiments on disjoint ranges of one namespace never share a user",
    )
    namespace_start = models.FloatField(
        default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    namespace_end = models.FloatField(
        default=1.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "ab_tests"
        ordering = ["-is_active", "name"]
        verbose_name = "experiment"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(coverage__gte=0, coverage__lte=1), name="ab_test_coverage_0_1"
            ),
            models.CheckConstraint(
                condition=models.Q(namespace_start__lt=models.F("namespace_end")),
                name="ab_test_namespace_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def seed(self) -> str:
        return self.hash_seed or self.name

    def is_running(self, at=None) -> bool:
        at = at or timezone.now()
        return (
            self.is_active
            and (self.start_date is None or self.start_date <= at)
            and (self.end_date is None or at < self.end_date)
        )


class ABTestVariant(models.Model):
    """One arm. The first by ``position`` is the control the others are compared to."""

    test = models.ForeignKey(ABTest, on_delete=models.CASCADE, related_name="variants")
    variant_name = models.SlugField(max_length=64)
    variant_config = models.JSONField(default=dict, blank=True)
    traffic_percentage = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(100)], help_text="All variants of a test sum to 100"
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="0 is the control")

    class Meta:
        db_table = "ab_test_variants"
        ordering = ["test_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["test", "variant_name"], name="ab_variant_test_name"),
            models.CheckConstraint(
                condition=models.Q(traffic_percentage__lte=100), name="ab_variant_percentage_le_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.test_id}/{self.variant_name}"


class ABTestAssignment(models.Model):
    """A user's first variant in a phase; never rewritten (sticky)."""

    user = models.ForeignKey(
        USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    # No database constraints: the event worker writes these rows, and an experiment
    # deleted while its events are in flight must not fail the worker's batch.
    test = models.ForeignKey(
        ABTest, on_delete=models.CASCADE, db_constraint=False, related_name="assignments"
    )
    variant = models.ForeignKey(
        ABTestVariant, on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )
    phase = models.PositiveIntegerField()
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "ab_test_assignments"
        ordering = ["-assigned_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "test", "phase"], name="ab_assignment_user_test_phase"
            ),
        ]
        indexes = [models.Index(fields=["test", "phase", "variant"], name="ab_assignment_variant")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.test_id}/{self.variant_id} (phase {self.phase})"


class ABTestOverride(models.Model):
    """QA: this user always gets this variant, running or not, and is never counted."""

    test = models.ForeignKey(ABTest, on_delete=models.CASCADE, related_name="overrides")
    user_id = models.BigIntegerField(help_text="Telegram user id")
    variant = models.ForeignKey(ABTestVariant, on_delete=models.CASCADE, related_name="+")
    note = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "ab_test_overrides"
        ordering = ["test_id", "user_id"]
        verbose_name = "QA override"
        constraints = [
            models.UniqueConstraint(fields=["test", "user_id"], name="ab_override_test_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.variant_id}"


class ABTestExposure(models.Model):
    """The first time a user's variant changed what they saw in a phase (written by the
    event worker from ``ExperimentViewed``; later views are ignored)."""

    event_id = models.UUIDField(unique=True)
    test = models.ForeignKey(
        ABTest, on_delete=models.DO_NOTHING, db_constraint=False, related_name="exposures"
    )
    phase = models.PositiveIntegerField()
    user_id = models.BigIntegerField()
    variant_name = models.CharField(max_length=64)
    exposed_at = models.DateTimeField()

    class Meta:
        db_table = "ab_test_exposures"
        ordering = ["-exposed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["test", "phase", "user_id"], name="ab_exposure_test_phase_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} saw {self.test_id}/{self.variant_name}"
