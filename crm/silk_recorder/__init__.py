"""Record every request into silk's tables at a fraction of silk's own cost.

silk's SilkyMiddleware writes about six statements per request while the
client waits (it creates the request row, saves the response, bulk-creates
the statements and reads them back, updates the request), re-indents the
whole response as JSON, compiles every ORM statement twice and formats the
full Python stack for each. This package keeps silk's models, pages,
permissions and garbage collection and replaces only the recording:

- crm.silk_recorder.middleware: SilkRecorderMiddleware, in MIDDLEWARE where
  silk's was. On the request's thread it copies references: headers, body,
  response content, and per statement (from ``connection.execute_wrapper``,
  so each is compiled once) its SQL, parameters, times and a short stack.
- crm.silk_recorder.writer: a bounded buffer and a background thread that
  writes each batch with one statement per table in one transaction
  (crm.silk_recorder.tables: executemany, or COPY on PostgreSQL).
- crm.silk_recorder.rows and .sqltext: the writer's side, building silk's
  rows with their final values, masked as silk masks them.

What is lost or different, compared with silk's own middleware:

- A request appears in /silk/ only when its batch is written, up to
  SILK_RECORDER_FLUSH_SECONDS after it ended.
- A hard kill (SIGKILL, OOM, power) loses the requests still buffered: at
  most SILK_RECORDER_MAX_PENDING, usually under one batch. A normal exit
  writes them (atexit). On PostgreSQL the writer commits without waiting
  for the WAL flush, so a crash of the database server can also lose the
  batches committed in its last fraction of a second.
- When the buffer is full (the database cannot keep up, or is down)
  further requests are not recorded; they are counted and a warning is
  logged. A batch whose write fails is logged and dropped, not retried.
- A statement's traceback shows the code that sent it and the project's
  own frames below Django's request handler (so no middleware), not the
  whole stack.
- Statements are recorded as sent to the database, so savepoints and raw
  cursor SQL appear too; there is no EXPLAIN (``manage.py benchmark
  --explain`` has the plans), no Python profile (SILKY_PYTHON_PROFILER,
  ``silk_profile`` and SILKY_DYNAMIC_PROFILING do nothing), and
  SILKY_INTERCEPT_PERCENT, SILKY_IGNORE_QUERIES and SILKY_META's count of
  silk's own statements are not used (the recorder sends none during a
  request; meta time is its own time on the request's thread).
- A JSON response body is stored as sent, not re-indented, and without the
  base64 raw copy next to it; other bodies keep only the raw copy.
- Values in a statement's text are cut at 200 characters and masked when
  their column matches SILKY_SENSITIVE_KEYS (silk stored the API token of
  every request in its token lookup); query strings and response headers
  are masked the same way, which silk did not do.
"""
