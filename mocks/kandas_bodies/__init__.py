"""Stand-ins for the information systems of the kandas chain's bodies (order 170).

Six bodies in two regions: the career centres, labour mobility centres and local
executive bodies of Turkestan (departure) and North Kazakhstan (settlement). Each takes
the steps the gateway assigns to it from its own queue, works for a simulated while,
decides (forward with the data the step needs, return with remarks, or refuse), signs
the decision as its official of the step's role with the key the mock certification
authority issued, and publishes it on the status exchange. Each keeps its own journal on
disk so that a restart neither loses nor doubles a decision. Start them with
`python -m mocks.kandas_bodies run`.
"""
