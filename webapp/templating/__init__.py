"""Message templates: built-in defaults per message type × channel × locale, sandboxed rendering."""
