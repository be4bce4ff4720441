"""Customer Notifications: rules, and (later) planning and delivering the messages they cause."""
