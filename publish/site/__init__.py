"""The release's static site: pages in English and French, rendered with Jinja2 into site/."""

from publish.site.render import write_site

__all__ = ["write_site"]
