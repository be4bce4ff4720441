"""Customer Notifications: the rules, and the messages order and invoice events (and staff) plan from them."""
