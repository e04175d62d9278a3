"""Use cases: eventsourcing Applications, the role policy, queries over history."""
