"""`run` sends reminders on its schedule (issue 14): the REMIND job is scheduled daily at
`schedule.remind` only when an SMTP server is configured, and LifecycleJob.remind sends each digest
once, with the SMTP server down logging it and recording nothing (the next run retries)."""

from __future__ import annotations

from datetime import time

from agent.actions.audit import AuditTrail
from agent.service.lifecycle_job import LifecycleJob
from agent.service.timetable import REMIND, build_scheduler, timetable_from_config
from tests.actions.reminder_population import NOW, setup
from tests.builders import load_config
from tests.notify.smtp_server import SmtpServer, free_port, notifications


def test_the_remind_job_is_scheduled_daily_only_with_an_smtp_server(tmp_path):
    assert timetable_from_config(load_config(tmp_path)).remind_times == ()
    config = load_config(tmp_path, {"notifications": {"host": "127.0.0.1", "tls": "none",
                                                      "from": "hwb@test.example"},
                                    "schedule": {"remind": ["06:15", "18:00"]}})
    timetable = timetable_from_config(config)
    assert timetable.remind_times == (time(6, 15), time(18, 0))
    ran: list[str] = []
    scheduler = build_scheduler(timetable, ran.append, None)
    reminders = [job for job in scheduler.jobs if job.job_func.args == (REMIND,)]
    assert [(job.unit, job.at_time) for job in reminders] == [("days", time(6, 15)), ("days", time(18, 0))]


def test_the_job_sends_once_and_an_smtp_outage_records_nothing(tmp_path):
    port = free_port()
    server = SmtpServer(port=port)
    config = setup(tmp_path, notifications(server))
    audit = AuditTrail(config.logging.audit_file)
    job = LifecycleJob(config, lambda: False, audit, clock=lambda: NOW)
    try:
        down = job.remind()  # nothing listens on the port yet
        assert down.problems >= 2 and down.changed == 0
        server.start()
        try:
            sent = job.remind()
            assert len(server.received) == 2 and sent.problems == 4  # the 4 sponsors who cannot be mailed
            job.remind()
            assert len(server.received) == 2
        finally:
            server.stop()
    finally:
        job.close()
        audit.close()
