"""gunicorn settings for the floor apps: the same garbage-collector tuning `osteo-cds serve` applies per worker,
so a floor differs from the service only in what the app does."""

from cds_service.gc_tuning import tune_garbage_collector


def post_worker_init(worker: object) -> None:
    tune_garbage_collector()
