"""A stand-in for AWS: a local moto server taught the AWS rules the deploy tool meets.

Only the rehearsal (`flask-fargate rehearse`) and tests import it; the deploy tool never does.
server.moto_server() starts it; rules.py holds the rules every other module builds on.
"""
