from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.conftest import SHARED_FIXTURES
from syncjobs.services import import_file

def test_scratch(alice):
    path = SHARED_FIXTURES/"eml/multiple-from-at-in-display-name.eml"
    with CaptureQueriesContext(connection) as ctx:
        r = import_file(owner=alice, path=path)
    for q in ctx.captured_queries: print(q["sql"][:150])
    print(r.query_count)
