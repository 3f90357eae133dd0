"""Placeholder until the CLI lands."""
import click


@click.group()
def main() -> None:
    """caltac-inbox"""
