"""The knowledge base (قاعدة المعرفة): user guides, FAQ and the beneficiaries' rights on the portal;
the staff's library of tools (issue 20, point 4)."""
