"""The files aiocases writes and reads, in one place, used by the command
line and the arq workers alike: an export's lines (:mod:`~aiocases.files.lines`),
its journal (:mod:`~aiocases.files.journal`), the writer that keeps each case's
lines together (:mod:`~aiocases.files.writer`), the output opened for a
resumable run (:mod:`~aiocases.files.output`), the state directory of an
incremental sync (:mod:`~aiocases.files.syncstate`), files of case ids
(:mod:`~aiocases.files.ids`) and the one-file-a-case exports of workers
(:mod:`~aiocases.files.casefiles`).
"""
