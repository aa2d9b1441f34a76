"""Mock systems of the kandas chain's bodies (order 170): they act on their own over AMQP."""
