"""aplcohort.batch"""
