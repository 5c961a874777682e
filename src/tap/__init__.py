"""tap: AWS CloudFormation for two systems, built with troposphere and awacs."""
