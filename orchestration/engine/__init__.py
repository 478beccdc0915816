"""The engine: runs flow instances as step runs, with the database as the source of truth.

Public operations live in orchestration/engine/api.py; everything else in this
package is internal to the engine.
"""
