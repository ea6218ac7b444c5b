"""Django's SQLite backend, told the real variable limit of the linked SQLite.

Django 5.2 assumes the 999 variables per statement of SQLite before 3.32,
so a bulk insert or update of 1,000 contacts is cut into dozens of
statements. SQLite 3.32+ allows 32,766 or more, and Python 3.11 can ask the
library. Django 6.0 reads the limit the same way; when the project moves to
it, this backend can go and ENGINE can be Django's own again.
"""

import sqlite3

from django.db.backends.sqlite3 import base, features
from django.utils.functional import cached_property


class DatabaseFeatures(features.DatabaseFeatures):
    @cached_property
    def max_query_params(self) -> int:
        self.connection.ensure_connection()
        return self.connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
