"""aplcohort.plan"""
