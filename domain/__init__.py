"""What a dossier is and which moves are legal. Standard library and eventsourcing.domain only."""
