"""Facts apps add to ``/healthz`` without ``config`` importing them: each app registers
its report from its ``AppConfig.ready``. A report returns (figures, warnings): figures
are merged into the answer, warnings listed under ``warnings``. Reports inform the
operator; they never make the process unhealthy."""

from __future__ import annotations

from collections.abc import Callable

HealthReport = Callable[[], tuple[dict[str, object], list[str]]]

_reports: list[HealthReport] = []


def health_report_register(report: HealthReport) -> None:
    if report not in _reports:
        _reports.append(report)


def health_reports() -> tuple[HealthReport, ...]:
    return tuple(_reports)
