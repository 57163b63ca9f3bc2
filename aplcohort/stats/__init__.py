"""aplcohort.stats"""
