"""The web layer: validate, call the engine, render. One thin blueprint per resource."""

from __future__ import annotations

from flask import Flask

from lossdoctor.api import diagnoses, health, pathologies, plots, reports, reproductions, sources, web
from lossdoctor.api.errors import register_error_handlers


def init_app(app: Flask) -> None:
    app.register_blueprint(health.bp)
    app.register_blueprint(diagnoses.bp)
    app.register_blueprint(pathologies.bp)
    app.register_blueprint(sources.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(plots.bp)
    app.register_blueprint(reproductions.bp)
    app.register_blueprint(web.bp)
    register_error_handlers(app)
